"""A loopback TCP proxy for the cluster bus that records what passes each way (threads)."""

from __future__ import annotations

import socket
import threading


class BusProxy:
    """Listens on ``port``; each accepted link is forwarded to ``target``. ``sent[i]`` and
    ``received[i]`` are the bytes of link i towards the target and back."""

    def __init__(self, port: int, target: tuple[str, int]):
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(8)
        self.sent: list[bytearray] = []
        self.received: list[bytearray] = []
        self.lock = threading.Lock()
        self.closing = False
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closing:
            try:
                a, _ = self.listener.accept()
            except OSError:
                return
            b = socket.create_connection(self.target)
            with self.lock:
                up, down = bytearray(), bytearray()
                self.sent.append(up)
                self.received.append(down)
                self.socks += [a, b]
            threading.Thread(target=self._pump, args=(a, b, up), daemon=True).start()
            threading.Thread(target=self._pump, args=(b, a, down), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, log: bytearray) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    log += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def snapshot(self) -> tuple[list[bytes], list[bytes]]:
        with self.lock:
            return [bytes(x) for x in self.sent], [bytes(x) for x in self.received]

    def close(self) -> None:
        self.closing = True
        self.listener.close()
        with self.lock:
            for s in self.socks:
                s.close()
