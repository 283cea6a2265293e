"""run-daemons' one-process pass: which daemons run side by side, and failures counted."""
from objstore.aio import daemon_pass


def _triple(kind, node):
    return ("%s-%d" % (kind, node), kind, "/etc/%d.conf" % node)


def test_each_nodes_expirers_form_one_group_the_rest_run_alone():
    triples = [_triple("object-updater", 1), _triple("object-updater", 2),
               _triple("container-updater", 1),
               _triple("object-expirer", 1), _triple("object-expirer", 2),
               _triple("object-expirer", 3)]
    groups = daemon_pass._groups(triples)
    assert groups == [[triples[0]], [triples[1]], [triples[2]], triples[3:]]


def test_a_failed_pass_in_a_group_fails_the_run_but_not_its_neighbours(monkeypatch):
    ran = []

    def fake_pass(triple):
        ran.append(triple[0])
        return triple[0] != "object-expirer-2"

    monkeypatch.setattr(daemon_pass, "_one_pass", fake_pass)
    triples = [_triple("object-expirer", n) for n in (1, 2, 3)]
    assert daemon_pass._run_groups(triples) == 1
    assert sorted(ran) == ["object-expirer-1", "object-expirer-2", "object-expirer-3"]
    assert daemon_pass._run_groups(triples[:1]) == 0
