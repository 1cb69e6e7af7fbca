"""The forecasting models, one per module, and the registry built from them.

Every module of this package that defines a :class:`forecasting.base.Model` subclass adds it
to :data:`MODELS` under the class's ``name``: a new model is one new file, nothing else
changes. The classes are also importable from here (``from forecasting.models import ETS``).

==================== ======================== ================================================
name                 class                    what
==================== ======================== ================================================
``seasonal_naive``   :class:`SeasonalNaive`   same slot of the latest open week
``seasonal_average`` :class:`SeasonalAverage` mean of the slot over the last k ordinary weeks
``ets``              :class:`ETS`             damped Holt on open-day totals x day profile
``mstl``             :class:`MSTLModel`       daily + weekly STL, damped trend
``prophet``          :class:`ProphetModel`    Prophet with the GP calendar
``auto``             :class:`AutoModel`       per-series choice by a short backtest
==================== ======================== ================================================
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from forecasting.base import ForecastInputError, Model

MODELS: dict[str, type[Model]] = {}


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, Model) and obj.__module__ == module.__name__:
                if obj.name in MODELS:
                    raise RuntimeError(f"Two models are registered as {obj.name!r}: {MODELS[obj.name]} and {obj}")
                MODELS[obj.name] = obj
                globals()[obj.__name__] = obj


_discover()


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


__all__ = ["MODELS", "make_model", *sorted(cls.__name__ for cls in MODELS.values())]
