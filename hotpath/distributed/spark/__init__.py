"""The pipeline's job in Apache Spark: the files read per task by hotpath's own readers, the
native kernels per partition through Arrow, the same report as ``hotpath pipeline``.

``session`` starts Spark (local or a cluster URL); ``tasks`` holds what runs on executors;
``job`` is the exact job and its engine; ``variants`` the side-by-side implementations the
benchmark times; ``tuning`` the baseline and optimized jobs measured by Spark's own metrics
(``metrics``); ``cli`` registers ``hotpath spark``. Needs the ``spark`` extra.
"""
