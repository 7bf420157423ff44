"""How the app's tables show their numbers: every figure of a column with the same decimals (pandas' own display
drops trailing zeros, so one run's "54" stood over another's "63.35"), a missing figure as a dash."""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler


def fixed_decimals(frame: pd.DataFrame, decimals: dict[str, int]) -> Styler:
    """The frame as a gr.Dataframe (not interactive) shows it: `decimals` {column: places}, any other float column
    as Python writes it (a learning rate 0.001, not pandas' 0.001000); the values stay numbers."""
    formats = {c: "{:g}" for c in frame.columns if pd.api.types.is_float_dtype(frame[c])}
    formats.update({c: f"{{:.{d}f}}" for c, d in decimals.items()})
    return frame.style.format(formats, na_rep="—")
