"""A real SMTP server for the tests (aiosmtpd, from Debian's python3-aiosmtpd).

Every message it receives is written as JSON to DIR/<n>.json with its
envelope and its decoded subject and body, so tests can assert on what
arrived. Usage: python3 smtp_sink.py HOST PORT DIR
"""
import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "in_reply_to": str(msg["In-Reply-To"] or ""),
            "references": str(msg["References"] or ""),
            "body": body.get_content() if body is not None else "",
        }
        name = os.path.join(self.out, f"{len(os.listdir(self.out)):05d}.json")
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        return "250 Message accepted for delivery"


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    controller = Controller(Sink(out), hostname=host, port=port)
    controller.start()
    print(f"smtp sink listening on {host}:{port}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
