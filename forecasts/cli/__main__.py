"""``python -m forecasts.cli``: the ``forecasts`` script."""

from forecasts.cli import main

if __name__ == "__main__":
    main()
