#!/usr/bin/env bash
# The domainfit demo: the commands a user types, on the bundled bank customer-service sample (written for the project).
# Run through `make demo` (which sets up .venv first). About 3-5 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

step() { printf '\n\033[1;36m$ %s\033[0m\n' "$*"; "$@"; }

echo "== 1. Look at the data before training: every problem at once, with row numbers"
step domainfit data check examples/bank_support/messy.csv || true

echo "== 2. Fine-tune the bundled all-MiniLM-L6-v2 on 8 banking intents (config file), with baselines"
step domainfit train examples/bank_support/config.yaml --overwrite   # --overwrite: the demo can run again

echo "== 3. Evaluate the bundle on a labelled file: metrics + report.html"
step domainfit evaluate runs/bank_support --data examples/bank_support/test.csv

echo "== 4. Predict"
step domainfit predict runs/bank_support --text "my card was swallowed by the ATM" --text "how much does it cost to send money abroad?"

echo "== 5. Chinese GBK export: encoding detected, the vocabulary warning names a Chinese model, TF-IDF carries on"
step domainfit train examples/bank_support_zh/train.csv --test examples/bank_support_zh/test.csv --method head -o runs/bank_support_zh --overwrite

echo "== 6. Offline fix for Chinese: extend MiniLM's vocabulary with the sample's own texts and pretrain it (a minute),"
echo "       then fine-tune the pretrained backbone; the CLI speaks Chinese (DOMAINFIT_LANG=zh)"
step env DOMAINFIT_LANG=zh domainfit pretrain examples/bank_support_zh/train.csv --extend-vocab auto --steps 60 --batch-size 16 -o backbones/bank-zh --overwrite
step env DOMAINFIT_LANG=zh domainfit train examples/bank_support_zh/train.csv --test examples/bank_support_zh/test.csv --model backbones/bank-zh -o runs/bank_support_zh_pretrained --overwrite

echo
echo "Done. Open runs/bank_support/report.html in a browser (self-contained, works offline)."
