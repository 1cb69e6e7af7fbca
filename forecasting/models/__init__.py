"""The forecasting models, one per module, and their registry: a plain dict written out here.

A new model is one module defining a :class:`forecasting.base.Model` subclass and one line in
:data:`MODELS`. The classes are also importable from here (``from forecasting.models import ETS``).

==================== ======================== ================================================
name                 class                    what
==================== ======================== ================================================
``seasonal_naive``   :class:`SeasonalNaive`   same slot of the latest open week
``seasonal_average`` :class:`SeasonalAverage` mean of the slot over the last k ordinary weeks
``ets``              :class:`ETS`             damped Holt on open-day totals x day profile
``mstl``             :class:`MSTLModel`       daily + weekly STL, damped trend
``prophet``          :class:`ProphetModel`    Prophet with the GP calendar
``auto``             :class:`AutoModel`       per series, the best candidate or mean of the
                                              near-best, by a short day-ahead backtest
==================== ======================== ================================================
"""

from __future__ import annotations

from forecasting.base import ForecastInputError, Model
from forecasting.models.auto import AutoModel
from forecasting.models.ets import ETS
from forecasting.models.mstl import MSTLModel
from forecasting.models.prophet_model import ProphetModel
from forecasting.models.seasonal_average import SeasonalAverage
from forecasting.models.seasonal_naive import SeasonalNaive

#: The registry: a model's name -> its class. A new model is one new module and one line here.
MODELS: dict[str, type[Model]] = {
    cls.name: cls for cls in (AutoModel, ETS, MSTLModel, ProphetModel, SeasonalAverage, SeasonalNaive)
}


def make_model(name: str, **kwargs) -> Model:
    """A model by registry name, e.g. ``make_model("seasonal_average", k=6)``.

    Raises
    ------
    ForecastInputError
        For an unknown name, listing the known ones.
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ForecastInputError(f"Unknown model {name!r}. Known models: {', '.join(sorted(MODELS))}.") from None
    return cls(**kwargs)


__all__ = ["MODELS", "make_model", "AutoModel", "ETS", "MSTLModel", "ProphetModel", "SeasonalAverage", "SeasonalNaive"]
