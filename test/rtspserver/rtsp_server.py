#!/usr/bin/python3
"""RTSP test server for camstream's tests and benchmarks.

Serves a live H.264 test pattern (GStreamer videotestsrc) on 127.0.0.1 at one
or more mount paths, optionally behind RTSP basic auth; --size serves a path
at its own size (a camera's sub-stream). Prints "ready PORT" on stdout once
it listens and "play PATH" on stderr when a client plays a path; SIGTERM or
SIGINT stops it.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", default="0", help="TCP port, 0 picks a free one")
    p.add_argument("--path", action="append", default=[], help="mount path (repeatable)")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--pattern", default="ball", help="videotestsrc pattern")
    p.add_argument("--size", action="append", default=[], metavar="PATH=WxH",
                   help="serve PATH at its own size (repeatable)")
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--codec", default="h264", choices=["h264", "jpeg"],
                   help="jpeg: an MJPEG camera (RTP/JPEG, RFC 2435, which carries 4:2:0 only)")
    a = p.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(a.port)

    def launch(width, height):
        if a.codec == "jpeg":
            return (
                f"( videotestsrc is-live=true pattern={a.pattern} "
                f"! video/x-raw,format=I420,width={width},height={height},framerate={a.fps}/1 "
                f"! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
            )
        return (
            f"( videotestsrc is-live=true pattern={a.pattern} "
            f"! video/x-raw,width={width},height={height},framerate={a.fps}/1 "
            f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.fps} "
            f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )

    paths = {path: (a.width, a.height) for path in a.path or ["/stream"]}
    for spec in a.size:
        path, _, size = spec.partition("=")
        w, _, h = size.partition("x")
        paths[path] = (int(w), int(h))
    permissions = None
    if a.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("viewer", "media.factory.access", True)
        permissions.add_permission_for_role("viewer", "media.factory.construct", True)

    mounts = server.get_mount_points()
    for path, (width, height) in paths.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch(width, height))
        factory.set_shared(True)
        if permissions is not None:
            factory.set_permissions(permissions)
        mounts.add_factory(path, factory)

    def on_play(client, ctx):
        print(f"play {ctx.uri.abspath}", file=sys.stderr, flush=True)

    server.connect("client-connected", lambda _, client: client.connect("play-request", on_play))

    if server.attach(None) == 0:
        print("cannot listen on port " + a.port, file=sys.stderr)
        sys.exit(1)
    print(f"ready {server.get_bound_port()}", flush=True)

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
