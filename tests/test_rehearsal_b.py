"""The second half of the end-to-end rehearsal (see tests/test_rehearsal.py): a file of its own, so that the test
command's second worker runs it beside the first half (``--dist loadfile``)."""
from test_rehearsal import GROUP_B, rehearse_group


def test_rehearse_group_b_end_to_end(tmp_path):
    """`python -m tlkit rehearse` runs notebooks through the full code paths: exit code 0, finite claim values."""
    assert rehearse_group(GROUP_B, tmp_path)
