#!/usr/bin/env python3
"""Asks chatfn whether a user may start a session, speaking the request/reply protocol
(docs/protocol.md) with a standard Kafka client (confluent-kafka).

    python3 start_session.py --bootstrap 127.0.0.1:39017 --username ada --password 'open sesame'
"""
import argparse
import json
import struct
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", default="")
    parser.add_argument("--timeout-ms", type=int, default=2000)
    parser.add_argument("--reply-partition", type=int, default=0)
    args = parser.parse_args()

    # Follow the reply partition from its current end before asking, so the answer cannot be missed.
    replies = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "start-session-example",
                        "enable.auto.commit": False, "fetch.wait.max.ms": 5})
    _, end = replies.get_watermark_offsets(TopicPartition("chatfn.replies", args.reply_partition), timeout=10)
    replies.assign([TopicPartition("chatfn.replies", args.reply_partition, end)])

    correlation_id = str(uuid.uuid4())
    deadline_ms = int(time.time() * 1000) + args.timeout_ms
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 0})
    producer.produce(
        "chatfn.requests",
        value=json.dumps({"username": args.username, "authParams": {"password": args.password}}),
        headers=[
            ("ce_specversion", b"1.0"),
            ("ce_id", correlation_id.encode()),
            ("ce_type", b"user.attempted.start_session"),
            ("ce_source", b"example/start_session.py"),
            ("content-type", b"application/json"),
            ("chatfn_correlation_id", correlation_id.encode()),
            ("chatfn_reply_to", b"chatfn.replies"),
            ("chatfn_reply_partition", struct.pack(">i", args.reply_partition)),
            ("chatfn_deadline", str(deadline_ms).encode()),
        ],
    )
    producer.flush(5)

    while time.time() * 1000 < deadline_ms:
        message = replies.poll(0.05)
        if message is None or message.error():
            continue
        headers = dict(message.headers() or [])
        if headers.get("chatfn_correlation_id") == correlation_id.encode():
            print(message.value().decode())
            replies.close()
            return 0
    # No answer in time: the caller's own fallback, as the chat platform would apply it.
    print(json.dumps({"decision": "deny", "status": "timeout", "reason": "no decision in time"}))
    replies.close()
    return 1


if __name__ == "__main__":
    sys.exit(main())
