"""`python -m domainfit …`, as `accelerate launch -m domainfit train …` and `torchrun -m domainfit train …` call it."""

from domainfit.cli.main import main

if __name__ == "__main__":
    main()
