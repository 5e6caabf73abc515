"""The daemon: asyncio glue between the sans-IO core and the kernel, in parts.

    errors     exit codes and the errors start-up and reload raise (standard library only)
    kernel     what the daemon needs of the kernel, passed in (fakes in tests)
    model      interface and router records, each with one `close()`
    addresses  the ordered address/ARP job queue, VIP claims, stale removal, teardown
    loop       packets, timers and link events into routers; their actions out
    reload     diff, prepare, apply; start-up is a reload from an empty config
    service    the `Daemon`: lifecycle under an AsyncExitStack, signals, control requests

Nothing is imported here, so `failover.daemon.errors` stays light for `failover check`.
"""
