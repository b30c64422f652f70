"""Meta links, followed transitively.

Moodle's ``enrol_meta`` copies a parent course's own (non-meta) enrolments into the child and
stops there: A → B → C leaves C without A's students. The service closes the chain itself and
writes into each course only what no Moodle meta link already brings. Cycles are reported and
their links left out of the flow, so nothing loops.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

Roster = dict[int, int]  # Moodle user id → role id


@dataclass(frozen=True)
class Link:
    parent: int
    child: int
    in_moodle: bool = True


@dataclass
class MetaGraph:
    links: list[Link]
    cycles: list[list[int]] = field(default_factory=list)
    parents: dict[int, list[Link]] = field(default_factory=lambda: defaultdict(list))
    children: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


def build_graph(links: Iterable[Link]) -> MetaGraph:
    """The graph of links, without the ones that close a cycle (reported in ``cycles``)."""
    every = sorted(set(links), key=lambda link: (link.parent, link.child))
    cycles = strongly_connected_cycles(every)
    in_cycle = {course: index for index, cycle in enumerate(cycles) for course in cycle}
    graph = MetaGraph(links=[], cycles=cycles)
    for link in every:
        cyclic = link.parent in in_cycle and in_cycle.get(link.child) == in_cycle[link.parent]
        if not cyclic:
            graph.links.append(link)
            graph.parents[link.child].append(link)
            graph.children[link.parent].append(link.child)
    return graph


def strongly_connected_cycles(links: Iterable[Link]) -> list[list[int]]:
    """Tarjan's algorithm, iterative so that long chains don't hit the recursion limit."""
    successors: dict[int, list[int]] = defaultdict(list)
    for link in links:
        successors[link.parent].append(link.child)
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    cycles: list[list[int]] = []
    for root in sorted(successors):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            nexts = successors.get(node, [])
            if position < len(nexts):
                work.append((node, position + 1))
                child = nexts[position]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = _pop_component(stack, on_stack, node)
                if len(component) > 1 or node in successors.get(node, []):
                    cycles.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(cycles)


def _pop_component(stack: list[int], on_stack: set[int], node: int) -> list[int]:
    component = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == node:
            return component


def descendants(graph: MetaGraph, courses: Iterable[int]) -> set[int]:
    """The courses and every course their enrolments flow into."""
    return _reach(courses, lambda course: graph.children.get(course, []))


def ancestors(graph: MetaGraph, courses: Iterable[int]) -> set[int]:
    """The courses and every course whose enrolments flow into them."""
    return _reach(courses, lambda course: [link.parent for link in graph.parents.get(course, [])])


def _reach(start: Iterable[int], step: Callable[[int], Iterable[int]]) -> set[int]:
    seen = set(start)
    todo = list(seen)
    while todo:
        for other in step(todo.pop()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def topological_order(graph: MetaGraph, courses: Iterable[int]) -> list[int]:
    """Parents before children (the graph has no cycle left)."""
    wanted = set(courses)
    order: list[int] = []
    done: set[int] = set()
    for start in sorted(wanted):
        work = [(start, False)]
        while work:
            course, expanded = work.pop()
            if expanded:
                order.append(course)
                continue
            if course in done:
                continue
            done.add(course)
            work.append((course, True))
            work.extend(
                (link.parent, False)
                for link in graph.parents.get(course, [])
                if link.parent in wanted and link.parent not in done
            )
    return order


def written_rosters(
    graph: MetaGraph, direct: Mapping[int, Roster], courses: Iterable[int]
) -> dict[int, Roster]:
    """What the service must enrol itself in each course, meta flow included.

    total(C) = direct(C) ∪ total(parents); Moodle already copies into C what the service wrote
    into each parent that holds an ``enrol_meta`` link to it, so that part is not written again.
    ``courses`` must be closed under ``ancestors``.
    """
    total: dict[int, Roster] = {}
    written: dict[int, Roster] = {}
    for course in topological_order(graph, courses):
        everyone: Roster = dict(direct.get(course, {}))
        copied: set[int] = set()
        for link in graph.parents.get(course, []):
            for user, role in total.get(link.parent, {}).items():
                everyone.setdefault(user, role)
            if link.in_moodle:
                copied.update(written.get(link.parent, {}))
        total[course] = everyone
        written[course] = {user: role for user, role in everyone.items() if user not in copied}
    return written
