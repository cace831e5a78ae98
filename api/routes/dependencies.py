"""Dependencies between systems: a system's upstreams (read, replace) and the whole graph."""

from typing import Any

from fastapi import APIRouter

from api.deps import (
    AdministeredSystem,
    DependenciesDep,
    ReadableSystem,
    ReaderCaller,
    RegistryDep,
    SystemId,
)
from api.schemas.dependencies import (
    DependenciesUpdate,
    DependencyGraph,
    Edge,
    Node,
    SystemDependencies,
)
from shared.model.verdict import Verdict

router = APIRouter(tags=["dependencies"])

_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown system"}}


@router.get("/systems/{system_id}/dependencies", response_model=SystemDependencies,
            responses=_UNKNOWN)  # fmt: skip
async def read_dependencies(
    system_id: SystemId, _: ReadableSystem, caller: ReaderCaller, dependencies: DependenciesDep
) -> SystemDependencies:
    """The system's direct upstreams and direct downstreams (those the key may see)."""
    graph = await dependencies.graph()
    return SystemDependencies(
        system_id=system_id,
        depends_on=[u for u in graph.upstreams.get(system_id, ()) if caller.sees(u)],
        dependents=[d for d in graph.downstreams.get(system_id, ()) if caller.sees(d)],
    )


@router.put(
    "/systems/{system_id}/dependencies",
    response_model=SystemDependencies,
    responses={**_UNKNOWN,
               422: {"description": "An unknown upstream (`loc` names its index), a cycle "
                                    "(`msg` names it), or a bad body"}},
)  # fmt: skip
async def update_dependencies(
    system_id: SystemId,
    body: DependenciesUpdate,
    _: AdministeredSystem,
    dependencies: DependenciesDep,
) -> SystemDependencies:
    """Replace the system's direct upstreams (admin). Refused with 422 when one is not a system
    or when the edges would close a cycle (a system depending on itself is one)."""
    ids = await dependencies.set(system_id, body.depends_on)
    graph = await dependencies.graph()
    return SystemDependencies(system_id=system_id, depends_on=sorted(ids),
                              dependents=list(graph.downstreams.get(system_id, ())))  # fmt: skip


@router.get("/dependencies", response_model=DependencyGraph)
async def read_graph(
    caller: ReaderCaller, dependencies: DependenciesDep, registry: RegistryDep
) -> DependencyGraph:
    """The graph of the systems the key may see: every system with an edge and its recorded
    verdict, and the edges between them (upstream → downstream)."""
    graph = await dependencies.graph()
    edges = [(u, d) for u, d in graph.edges() if caller.sees(u) and caller.sees(d)]
    ids = sorted({i for edge in edges for i in edge})
    known = await registry.require_many(ids)
    recorded = await dependencies.recorded(ids)
    nodes = [
        Node(system_id=i, name=known[i].system.name,
             health=recorded[i].verdict if i in recorded else Verdict.NO_DATA)
        for i in ids
        if i in known
    ]  # fmt: skip
    return DependencyGraph(
        nodes=nodes, edges=[Edge(from_=u, to=d) for u, d in edges if u in known and d in known]
    )
