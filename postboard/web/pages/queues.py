"""The queue monitor at /queues (admins): figures per queue, jobs, failures and a chart, pushed live."""

from typing import Any

import reflex as rx
from reflex.vars import ArrayVar, ObjectVar

from postboard import names
from postboard.web import deps
from postboard.web.components.layout import page
from postboard.web.event import event
from postboard.web.field import Field, field
from postboard.web.monitor_hub import queue_snapshot
from postboard.web.state import AppState

Row = dict[str, Any]
GREEN, RED = "var(--grass-9)", "var(--red-9)"


class QueuesState(AppState):
    """What the monitor shows; the monitor hub pushes new figures into it every second."""

    queues: Field[list[Row]] = field(default_factory=list)
    recent: Field[list[Row]] = field(default_factory=list)
    failed: Field[list[Row]] = field(default_factory=list)
    failed_total: Field[int] = field(0)
    chart: Field[dict[str, list[Row]]] = field(default_factory=dict)
    updated_at: Field[str] = field("")
    queue_filter: Field[str] = field("all")
    detail: Field[Row] = field(default_factory=dict)
    detail_open: Field[bool] = field(False)

    async def _refresh(self) -> None:
        for var, value in (await queue_snapshot(deps.job_store())).items():
            setattr(self, var, value)

    @event
    async def load(self) -> None:
        """Read the figures and start receiving them live."""
        if not self.is_admin:
            return
        await self._refresh()
        await self._enter(names.QUEUES_ROOM)

    @event
    def set_queue_filter(self, value: str) -> None:
        """Show one queue, or all."""
        self.queue_filter = value if value in ("all", *names.QUEUES) else "all"

    @event
    def show(self, row: Row) -> None:
        """Open a job's details (arguments, error, traceback)."""
        self.detail, self.detail_open = row, True

    @event
    def set_detail_open(self, value: bool) -> None:
        """Close the details."""
        self.detail_open = value

    @event
    async def retry(self, task_id: str) -> Any:
        """Send one failed job again."""
        if not self.is_admin:
            return None
        found = await deps.retry_failed_job(deps.job_store(), task_id)
        self.detail_open = False
        await self._refresh()
        return rx.toast.success("Job sent again.") if found else rx.toast.warning("That job is no longer in the list.")

    @event
    async def retry_all(self) -> Any:
        """Send every failed job (of the queue shown) again."""
        if not self.is_admin:
            return None
        queue = None if self.queue_filter == "all" else self.queue_filter
        sent = await deps.retry_all_failed(deps.job_store(), queue=queue)
        await self._refresh()
        return rx.toast.success(f"{sent} job(s) sent again.")

    @event
    async def discard(self, task_id: str) -> Any:
        """Drop a failed job without running it."""
        if not self.is_admin:
            return None
        await deps.job_store().discard(task_id)
        self.detail_open = False
        await self._refresh()
        return rx.toast.info("Job discarded.")


def _shown(row: ObjectVar[Row]) -> rx.Var[bool]:
    return (QueuesState.queue_filter == "all") | (row["queue"] == QueuesState.queue_filter)


def _figure(label: str, value: rx.Var[Any] | str, *, color: str | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, size="4", weight="bold", color=color),
        spacing="0",
        min_width="6.5rem",
    )


def _queue_card(q: ObjectVar[Row]) -> rx.Component:
    card = rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(q["queue"], size="4"),
                rx.badge(
                    q["workers"].to(str) + " worker(s)", color_scheme=rx.cond(q["workers"].to(int) > 0, "grass", "red")
                ),
                rx.cond(q["long_wait"], rx.badge("long wait", color_scheme="red", variant="solid")),
                align="center",
                spacing="2",
            ),
            rx.flex(
                _figure("Waiting", q["depth"]),
                _figure("In flight", q["in_flight"]),
                _figure("Per minute", q["per_minute"]),
                _figure(
                    "Failed / min", q["failed_per_minute"], color=rx.cond(q["failed_per_minute"].to(int) > 0, RED, "")
                ),
                _figure("Oldest wait", q["oldest_wait"]),
                _figure("Wait p50 / p95", q["wait_p50"].to(str) + " / " + q["wait_p95"].to(str)),
                _figure("Run p50 / p95", q["run_p50"].to(str) + " / " + q["run_p95"].to(str)),
                wrap="wrap",
                spacing="4",
            ),
            spacing="3",
        ),
        width="100%",
        data_testid="queue-" + q["queue"].to(str),
    )
    return rx.cond(_shown(q), card)  # type: ignore[no-any-return]  # rx.cond is Any to mypy: pyproject.toml


def _status_badge(status: rx.Var[str]) -> rx.Component:
    return rx.badge(
        status,
        color_scheme=rx.match(status, ("succeeded", "grass"), ("retrying", "amber"), "red"),
        variant="soft",
    )


def _job_row(job: ObjectVar[Row], *, actions: bool) -> rx.Component:
    cells = [
        rx.table.cell(rx.moment(job["finished_at"], from_now=True, style={"fontSize": "12px"})),
        rx.table.cell(rx.link(job["task"], on_click=QueuesState.show(job), cursor="pointer")),
        rx.table.cell(job["queue"]),
        rx.table.cell(rx.cond(job["arguments"].to(str) != "", rx.code(job["arguments"], size="1"), "—")),
        rx.table.cell(job["attempts"]),
        rx.table.cell(_status_badge(job["status"])),
        rx.table.cell(
            rx.text(job["error"], size="1", color_scheme="red", trim="both", max_width="22rem", truncate=True)
        ),
    ]
    if actions:
        cells.append(
            rx.table.cell(
                rx.hstack(
                    rx.button("Retry", size="1", on_click=QueuesState.retry(job["task_id"])),
                    rx.button(
                        "Discard",
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        on_click=QueuesState.discard(job["task_id"]),
                    ),
                    spacing="2",
                )
            )
        )
    else:
        cells.append(rx.table.cell(job["runtime"]))
    return rx.cond(_shown(job), rx.table.row(*cells))  # type: ignore[no-any-return]  # rx.cond is Any to mypy: pyproject.toml


def _jobs_table(rows: ArrayVar[list[Row]], *, actions: bool, empty: str) -> rx.Component:
    heads = ["When", "Task", "Queue", "Arguments", "Attempts", "Status", "Error", "Actions" if actions else "Runtime"]
    return rx.cond(  # type: ignore[no-any-return]  # rx.cond is Any to mypy: pyproject.toml
        rows.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in heads))),
            rx.table.body(rx.foreach(rows, lambda job: _job_row(job, actions=actions))),
            width="100%",
            variant="surface",
            size="1",
        ),
        rx.text(empty, color_scheme="gray", size="2"),
    )


def _chart() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text("Jobs per minute, last hour (UTC)", weight="medium", size="2"),
            rx.recharts.bar_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                rx.recharts.x_axis(data_key="minute", interval=9, font_size=11),
                rx.recharts.y_axis(allow_decimals=False, font_size=11, width=40),
                rx.recharts.tooltip(),
                rx.recharts.legend(),
                # New figures arrive every second: animating each one would keep the bars at zero.
                rx.recharts.bar(
                    data_key="processed", name="processed", fill=GREEN, stack_id="jobs", is_animation_active=False
                ),
                rx.recharts.bar(data_key="failed", name="failed", fill=RED, stack_id="jobs", is_animation_active=False),
                data=QueuesState.chart[QueuesState.queue_filter],
                height=220,
                width="100%",
            ),
            width="100%",
        ),
        width="100%",
    )


def _detail_dialog() -> rx.Component:
    job = QueuesState.detail
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(job["task"].to(str)),
            rx.vstack(
                rx.text("Queue ", job["queue"].to(str), " · attempts ", job["attempts"].to(str), size="2"),
                rx.text("Arguments: ", rx.code(job["arguments"].to(str)), size="2"),
                rx.text("Waited ", job["wait"].to(str), ", ran ", job["runtime"].to(str), size="2"),
                rx.cond(job["error"].to(str) != "", rx.callout(job["error"].to(str), color_scheme="red", size="1")),
                rx.cond(
                    job["traceback"].to(str) != "",
                    rx.code_block(job["traceback"].to(str), language="python", wrap_long_lines=True, font_size="11px"),
                ),
                rx.hstack(
                    rx.cond(
                        job["status"].to(str) == "failed",
                        rx.button("Retry", on_click=QueuesState.retry(job["task_id"].to(str))),
                    ),
                    rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                align="start",
            ),
            max_width="56rem",
        ),
        open=QueuesState.detail_open,
        on_open_change=QueuesState.set_detail_open,
    )


def queues_page() -> rx.Component:
    """The queues route (admins)."""
    return page(
        rx.vstack(
            rx.hstack(
                rx.select(
                    ["all", *names.QUEUES],
                    value=QueuesState.queue_filter,
                    on_change=QueuesState.set_queue_filter,
                    size="2",
                    aria_label="Queue",
                ),
                rx.text(
                    "Live · updated ",
                    rx.moment(QueuesState.updated_at, format="HH:mm:ss"),
                    size="1",
                    color_scheme="gray",
                ),
                justify="between",
                align="center",
                width="100%",
            ),
            rx.foreach(QueuesState.queues, _queue_card),
            _chart(),
            rx.hstack(
                rx.heading("Failed jobs ", rx.badge(QueuesState.failed_total, color_scheme="red"), size="4"),
                rx.button(
                    "Retry all failed",
                    on_click=QueuesState.retry_all,
                    disabled=QueuesState.failed_total == 0,
                    size="2",
                ),
                justify="between",
                align="center",
                width="100%",
            ),
            _jobs_table(QueuesState.failed, actions=True, empty="No failed jobs."),
            rx.heading("Recent jobs", size="4"),
            _jobs_table(QueuesState.recent, actions=False, empty="No jobs have run yet."),
            _detail_dialog(),
            spacing="4",
            width="100%",
        ),
        title="Queues",
    )
