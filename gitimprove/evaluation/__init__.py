"""Evidence before approval: the parts of an evaluation (docs/evaluation.md).

The two sets of runs (:mod:`.runs`), replay (:mod:`.replay`), the judge (:mod:`.judge`), the
scorecard (:mod:`.scorecard`), the record in git (:mod:`.record`), the pure gate (:mod:`.gate`)
and its reading where decisions are made (:mod:`.check`). The evaluation itself, which finds the
proposal and calls the model, is :mod:`gitimprove.evaluate` (it sits above review; review reads
the records from here)."""
