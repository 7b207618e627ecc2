"""Testing helpers for turborle.

``turborle.testing.reference`` is a slow, pure-numpy oracle of every operation of
``turborle.mask``; the test suite checks the compiled core against it.
"""
