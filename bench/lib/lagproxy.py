#!/usr/bin/env python3
"""A TCP proxy that adds a fixed delay, for benchmarks over a "network".

    lagproxy.py TARGET_PORT RTT_MS PORT_FILE

Listens on a free loopback port (written to PORT_FILE once it listens) and
forwards every connection to 127.0.0.1:TARGET_PORT. Each chunk read from
either side is written to the other RTT_MS / 2 after it arrived, in order,
so every round trip takes RTT_MS longer; throughput is not limited (chunks
arriving during a wait go out together once their time has come). Runs
until killed.
"""
import asyncio
import os
import sys
import time


async def pump(reader, writer, delay):
    queue = asyncio.Queue()

    async def send():
        try:
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((time.monotonic() + delay, data or None))
            if not data:
                break
    except (ConnectionError, OSError):
        queue.put_nowait((0.0, None))
    await sender


async def main():
    target, rtt_ms, port_file = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    delay = rtt_ms / 2000.0

    async def handle(client_r, client_w):
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(
            pump(client_r, server_w, delay),
            pump(server_r, client_w, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
