"""``quotaboard_failure_alert``: a run-failure sensor that reports every failed run.

For each failed run of this code location (the nightly job, a landing-sensor run, a launch
from the UI) it logs one warning naming the run, the failed step(s) and the first line of the
error and, when ``QUOTABOARD_ALERT_WEBHOOK_URL`` is set, posts the same text as
``{"text": ...}`` to that webhook (``dagster_project.alerting``). On by default; the Dagster
daemon evaluates it (every 30 s). ``quotaboard run`` records its runs in the same instance
(``<home>/dagster``), so its failures are alerted too while a daemon runs on that home.
"""

import dagster as dg

from dagster_project.alerting import (
    FailedRun,
    alert_config_from_env,
    first_line,
    format_failure,
    post_alert,
)
from dagster_project.keys import AS_OF_TAG, WILL_RETRY_TAG

_WRAPPERS = ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError")


def _step_error_text(event: dg.DagsterEvent) -> str:
    """A failed step's message: a ``dg.Failure``'s description, else the innermost user error
    (Dagster's "Error occurred while executing ..." wrappers unwrapped)."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    err = data.error
    while err is not None and err.cause is not None and err.cls_name in _WRAPPERS:
        err = err.cause
    if err is None:
        return ""
    # "Exceeded max_retries of N": the reason is the cause (the last attempt's error).
    if err.message.startswith("Exceeded max_retries") and err.cause is not None:
        return f"{first_line(err.cause.message)} ({first_line(err.message).lower()})"
    return err.message


def describe_failure(context: dg.RunFailureSensorContext) -> FailedRun:
    """The failed run as an alert describes it."""
    run = context.dagster_run
    steps = context.get_step_failure_events()
    if steps:
        error = first_line(_step_error_text(steps[0]))
    else:
        data = context.failure_event.event_specific_data
        err = getattr(data, "error", None)
        error = first_line(err.message if err is not None else context.failure_event.message)
    tags = dict(run.tags or {})
    return FailedRun(
        run_id=run.run_id,
        job_name=run.job_name,
        failed_steps=[e.step_key or "" for e in steps],
        first_error_line=error,
        as_of=tags.get(AS_OF_TAG, ""),
        will_retry=tags.get(WILL_RETRY_TAG, "").lower() == "true",
        tags=tags,
    )


@dg.run_failure_sensor(
    name="quotaboard_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    # Every run of the instance: also `quotaboard run`'s (executed in process, so they have
    # no code-location origin); the instance of a home serves this one code location only.
    monitor_all_code_locations=True,
    description="Every failed run: run, failed step and first error line to the log, and to "
    "QUOTABOARD_ALERT_WEBHOOK_URL (Slack-compatible JSON) when that is set.",
)
def quotaboard_failure_alert(context: dg.RunFailureSensorContext) -> None:
    config = alert_config_from_env()
    failed = describe_failure(context)
    text = format_failure(failed, config.ui_url)
    context.log.warning(text)
    if config.webhook_url is None:
        context.log.info("no alert webhook configured (QUOTABOARD_ALERT_WEBHOOK_URL): log only")
        return
    delivery = post_alert(config.webhook_url, text, config.timeout_seconds)
    if delivery.ok:
        context.log.info(delivery.detail)
    else:
        # Not raised: a broken webhook must not stop the sensor from reporting later failures.
        context.log.error(delivery.detail)
