"""The weekly report's sections, one module each, in the order of the page.

=================== ============================== ==============================================
module              section                        made from
=================== ============================== ==============================================
``headline``        1. the week at a glance        :class:`reports.metrics.WeekMetrics`
``arrival``         2. when demand arrives         :class:`reports.metrics.WeekMetrics`
``capacity``        3. demand against capacity     :class:`reports.metrics.WeekMetrics`
``next_week``       4. next week                   :class:`forecasting.outlook.WeekOutlook`
``forecast_check``  5. how last week's forecast did :class:`forecasting.outlook.WeekOutlook`
``quality``         6. data quality                :class:`reports.metrics.WeekMetrics`
=================== ============================== ==============================================

Each module holds its section's dataclass (plain data: numbers, small frames, sentences and
notes) and the one function that makes it. Every section degrades to a note, never an
exception, when its data is missing. A new section is a new module here, a field of
:class:`reports.weekly.WeeklyReport` and its part of :mod:`reports.html`.
"""
