"""Deliberate breakages of privacy guarantees, and the tests that must catch them.

Each entry of :data:`tests.mutations.catalogue.MUTATIONS` breaks one guarantee on purpose
(the copy guard switched off, a mechanism's noise cut to a tenth while the recorded ε
stays the same, ...) by monkeypatching one name in ``src/``. ``run.py`` runs the named
tests once per mutation with the mutation applied and fails unless at least one of
them fails: a guarantee whose breakage no test notices is not tested.
"""
