"""The care programme's clock and delivery: APScheduler jobs, the outbox dispatcher, channels.

The bot starts it in its own process, on its event loop, with its own Bot:

    handle = start_scheduler(services, application.bot)   # in post_init
    await stop_scheduler(handle)                          # in post_stop
"""

from scheduler.setup import CareScheduler, start_scheduler, stop_scheduler

__all__ = ["CareScheduler", "start_scheduler", "stop_scheduler"]
