"""Redis between the server processes: python-socketio's Redis manager, made to fit a province.

- **Control messages.** A command for every process (close a revoked device's sockets; tell
  the phones it holds a field's new places, one message for the whole field) travels as an
  emit of CONTROL_EVENT; every process, the sender included, hands it to `control_handler`
  instead of delivering it to clients.
- **Back soon after an outage.** The stock listener backs off 1, 2, 4 … 60 s after Redis goes
  away, so boards on other processes miss calls long after Redis is back. Here it retries
  every RETRY_S, and once it listens again it calls `on_reconnect`, which sends every board
  of this process a fresh `state` (calls made elsewhere during the outage never reached it).
- Connecting gives up after CONNECT_TIMEOUT_S, so a Redis that is down costs a call a
  moment, not a TCP timeout.
- **One client, the listener's own subscription.** The stock `_redis_connect` makes a new
  client *and a new pubsub* whenever a publish failed, so a publish racing the listener's
  return could swap its subscription for an empty one: the listener then heard nothing and
  sent no resync. Here the client is made once (its pool reconnects by itself) and only the
  listener makes, and closes, its pubsub.
"""
from __future__ import annotations

import logging
import time

import socketio

log = logging.getLogger(__name__)

CONTROL_EVENT = "motcua:control"
RETRY_S = 1.0
CONNECT_TIMEOUT_S = 1.0


class ProcessLink(socketio.RedisManager):
    control_handler = None
    on_reconnect = None

    def __init__(self, url: str, channel: str = "flask-socketio"):
        super().__init__(url, channel=channel,
                         redis_options={"socket_connect_timeout": CONNECT_TIMEOUT_S, "health_check_interval": 10})

    def _redis_connect(self):  # publishers come here after a failure: never touch the listener's pubsub
        if self.redis is None:
            self.redis = self._get_redis_module().Redis.from_url(self.redis_url, **self.redis_options)
        self.connected = True

    def _subscribe(self):
        self._redis_connect()
        if self.pubsub is not None:
            try:
                self.pubsub.close()
            except Exception:  # noqa: BLE001 - its connection is already gone
                pass
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(self.channel)

    def _handle_emit(self, message):
        if message.get("event") == CONTROL_EVENT:
            data = message.get("data")
            command = data[0] if isinstance(data, list) and data else data
            if self.control_handler is not None and isinstance(command, dict):
                self.control_handler(command)
            return
        super()._handle_emit(message)

    def _redis_listen_with_retries(self):  # replaces the stock exponential back-off
        subscribed, lost = False, False
        while True:
            try:
                if not subscribed:
                    self._subscribe()
                    subscribed = True
                    if lost and self.on_reconnect is not None:
                        lost = False
                        try:
                            self.on_reconnect()
                        except Exception:  # a resync that failed must not stop the listener
                            log.exception("resync after the message queue came back")
                yield from self.pubsub.listen()
                subscribed = False  # listen() only returns once nothing is subscribed: subscribe again
            except Exception as exc:  # noqa: BLE001 - any Redis trouble: retry soon
                if not lost:
                    log.error("message queue lost (%s); retrying every %.0f s", exc, RETRY_S)
                subscribed, lost = False, True
                time.sleep(RETRY_S)  # patched by eventlet: a green sleep there
