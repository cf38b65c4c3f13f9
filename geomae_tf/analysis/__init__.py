"""Evaluation and figures, one module per family.

`geomae_tf.analysis.families.FAMILIES` maps a family name (see
`geomae_tf.zoo.ENTRIES`) to its `Family`: the function that measures a model
of the family on fresh data with ground truth, and the one that draws its
figures. `report` runs them over zoo entries (`geomae evaluate`, `geomae
figures`), `cards` and `claims` write and check what they measured.
"""
