"""Make models small and fast: ONNX export, int8/bf16 quantization, distillation — each checked by a parity gate."""

from domainfit.compression.bench import bench_bundle
from domainfit.compression.run import compress_bundle
from domainfit.inference.variants import list_variants, load_variant

__all__ = ["bench_bundle", "compress_bundle", "list_variants", "load_variant"]
