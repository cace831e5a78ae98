"""Report like Airflow does, through openlineage-python configured only by its environment:
a job run that completes, one that fails with an error facet, a task whose parent is a DAG run,
a run whose COMPLETE is sent before its START (as concurrent emitters do), and a COMPLETE whose
START never comes. Prints the run ids as JSON."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import error_message_run, parent_run

PRODUCER = "https://lso.example/tests/openlineage_job"


def emit(
    client: OpenLineageClient, state: RunState, run: Run, job: Job, at: datetime | None = None
) -> None:
    at = at or datetime.now(UTC)
    client.emit(RunEvent(eventType=state, eventTime=at.isoformat(), run=run, job=job,
                         producer=PRODUCER))  # fmt: skip


def main() -> None:
    client = OpenLineageClient()  # OPENLINEAGE_URL / OPENLINEAGE__TRANSPORT__… only
    job = Job(namespace="etl", name="orders")
    ok = Run(runId=str(uuid.uuid4()))
    emit(client, RunState.START, ok, job)
    time.sleep(1.2)  # a run that lasts a little
    emit(client, RunState.COMPLETE, ok, job)

    failed_id = str(uuid.uuid4())
    emit(client, RunState.START, Run(runId=failed_id), job)
    error = error_message_run.ErrorMessageRunFacet(
        message="relation orders_raw does not exist", programmingLanguage="python",
        stackTrace="Traceback (most recent call last):\n  ...",
    )  # fmt: skip
    emit(client, RunState.FAIL, Run(runId=failed_id, facets={"errorMessage": error}), job)

    dag_run = str(uuid.uuid4())
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=dag_run), job=parent_run.Job(namespace="etl", name="orders_dag")
    )
    task = Run(runId=str(uuid.uuid4()), facets={"parent": parent})
    task_job = Job(namespace="etl", name="orders_dag.load")
    emit(client, RunState.START, task, task_job)
    emit(client, RunState.COMPLETE, task, task_job)

    late, started = Run(runId=str(uuid.uuid4())), datetime.now(UTC) - timedelta(seconds=3)
    emit(client, RunState.COMPLETE, late, Job(namespace="etl", name="late"))
    emit(client, RunState.START, late, Job(namespace="etl", name="late"), started)
    emit(
        client, RunState.COMPLETE, Run(runId=str(uuid.uuid4())), Job(namespace="etl", name="lonely")
    )
    client.close()
    print(json.dumps({"ok": ok.runId, "failed": failed_id, "dag": dag_run, "late": late.runId}))


if __name__ == "__main__":
    main()
