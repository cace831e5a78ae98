"""Bodies of the dependency routes."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.model.verdict import Verdict
from shared.services.dependencies import MAX_DEPENDS_ON

Ref = Annotated[int, Field(ge=1)] | Annotated[str, Field(min_length=1, max_length=128)]


class DependenciesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    depends_on: list[Ref] = Field(
        max_length=MAX_DEPENDS_ON,
        description="The system's direct upstreams, by id (a number) or name (a string); "
        "[] removes them all",
    )


class SystemDependencies(BaseModel):
    system_id: int
    depends_on: list[int] = Field(description="Its direct upstreams, by id")
    dependents: list[int] = Field(description="The systems that depend on it directly, by id")


class Node(BaseModel):
    system_id: int
    name: str
    health: Verdict = Field(description="Its recorded verdict (NO_DATA: not evaluated yet)")


class Edge(BaseModel):
    from_: int = Field(alias="from", description="The upstream")
    to: int = Field(description="The downstream, which depends on `from`")

    model_config = ConfigDict(populate_by_name=True)


class DependencyGraph(BaseModel):
    nodes: list[Node] = Field(description="Every system with an edge, by id")
    edges: list[Edge] = Field(description="Upstream → downstream, by ids")
