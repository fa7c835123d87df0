"""A worker fetches booked (countdown) work before fresh work (integration_portal/celery.py).

Checked with kombu alone on two throwaway queues of the test Redis, with the app's transport
options: the pytest process never publishes a real task (an end-to-end worker could take it).
"""

from __future__ import annotations

import secrets

from kombu import Connection, Consumer, Exchange, Producer, Queue

from integration_portal.celery import app
from integration_portal.publishing import SCHEDULED_QUEUE


def test_the_scheduled_queue_is_consumed_first():
    names = [queue.name for queue in app.conf.task_queues]
    assert names[0] == SCHEDULED_QUEUE
    assert "celery" in names
    assert app.conf.broker_transport_options["queue_order_strategy"] == "priority"


def test_a_booked_message_is_fetched_before_an_older_backlog_of_fresh_ones(redis_url):
    suffix = secrets.token_hex(6)
    exchange = Exchange(f"test-order-{suffix}", type="direct")
    scheduled = Queue(f"test-scheduled-{suffix}", exchange, routing_key="scheduled")
    fresh = Queue(f"test-fresh-{suffix}", exchange, routing_key="fresh")
    received: list[str] = []
    with Connection(redis_url, transport_options=app.conf.broker_transport_options) as conn:
        channel = conn.channel()
        try:
            producer = Producer(channel, exchange)
            for queue in (scheduled, fresh):
                queue(channel).declare()
            for n in range(5):  # the backlog was there first
                producer.publish({"n": n}, routing_key="fresh", declare=[fresh])
            producer.publish({"n": "booked"}, routing_key="scheduled", declare=[scheduled])

            def on_message(body, message):
                received.append(str(body["n"]))
                message.ack()

            # The worker's order: the scheduled queue first (see test above).
            with Consumer(channel, [scheduled, fresh], callbacks=[on_message]):
                while len(received) < 6:
                    conn.drain_events(timeout=5)
        finally:
            for queue in (scheduled, fresh):
                queue(channel).delete()
            channel.close()
    assert received[0] == "booked"
    assert received[1:] == ["0", "1", "2", "3", "4"]
