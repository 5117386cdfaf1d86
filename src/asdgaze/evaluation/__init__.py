"""Parts of ``asdgaze evaluate``: the models scored (:mod:`.models`), the probabilistic scoring of
one image (:mod:`.prob`) and the summary tables and reader (:mod:`.summary`). The run itself
(plan, pool, resume, outputs) is :mod:`asdgaze.evaluate`."""
