"""Two people acting on one incident at the same instant: one wins, the other is told why."""

from __future__ import annotations

import threading

from starlette.testclient import TestClient


def test_two_simultaneous_acknowledgements_give_one_event(app, make_token, make_incident):
    make_incident()
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(2)]
    for n, client in enumerate(clients):
        client.headers["Authorization"] = f"Bearer {make_token('responder', f'person-{n}')}"
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def ack(client: TestClient) -> None:
        barrier.wait()
        statuses.append(client.post("/api/v1/incidents/1/acknowledge").status_code)

    threads = [threading.Thread(target=ack, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]
    timeline = clients[0].get("/api/v1/incidents/1").json()["timeline"]
    assert [e["kind"] for e in timeline] == ["declared", "paging_skipped", "acknowledged"]
