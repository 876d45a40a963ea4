"""Use cases for clusters, villages, organisations and pairings."""

from __future__ import annotations

from datetime import date
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.core.db import sorted_by
from marketplace.core.models import apply_changes
from marketplace.core.signals import send_required
from marketplace.parties.errors import (
    ClusterNotFound,
    DuplicateName,
    KeyVillageNotMember,
    MembershipExists,
    MembershipNotFound,
    NotYours,
    OrganisationNotFound,
    PairingExists,
    VillageInAnotherCluster,
    VillageNotFound,
    VillageNotServed,
    WrongOrganisationKind,
)
from marketplace.parties.models import (
    Cluster,
    ClusterVillage,
    CooperativeVillage,
    Organisation,
    OrganisationKind,
    Pairing,
    Role,
    Village,
)
from marketplace.parties.signals import village_left


class Actor(Protocol):
    """Who acts, as far as parties needs to know: accounts' users are such."""

    @property
    def role(self) -> Role: ...

    @property
    def organisation_id(self) -> int: ...


CLUSTER_OPERATOR_KINDS = {OrganisationKind.OPERATOR, OrganisationKind.STRONG_VILLAGE_COMPANY}
# Who grows and sells produce: the organisations that hold brand licences and work in villages.
GROWER_KINDS = {OrganisationKind.COOPERATIVE, OrganisationKind.STRONG_VILLAGE_COMPANY}


def get_village(session: Session, village_id: int) -> Village:
    village = session.get(Village, village_id)
    if village is None:
        raise VillageNotFound(f"village {village_id} does not exist")
    return village


def list_villages(
    session: Session,
    *,
    cluster_id: int | None = None,
    county: str | None = None,
    township: str | None = None,
    sort: str | None = None,
) -> sa.Select:
    statement = sa.select(Village)
    if cluster_id is not None:
        statement = statement.join(ClusterVillage).where(ClusterVillage.cluster_id == cluster_id)
    if county:
        statement = statement.where(sa.or_(Village.county_zh == county, Village.county_en == county))
    if township:
        statement = statement.where(sa.or_(Village.township_zh == township, Village.township_en == township))
    columns = {"name": Village.name_zh, "baseline_income_fen": Village.baseline_income_fen}
    return sorted_by(statement, sort, columns, Village.id)


def create_village(session: Session, **fields) -> Village:
    _ensure_unique_village(session, fields["county_zh"], fields["township_zh"], fields["name_zh"])
    village = Village(**fields)
    session.add(village)
    session.flush()
    return village


def update_village(session: Session, *, village_id: int, changes: dict) -> Village:
    village = get_village(session, village_id)
    merged = {key: changes.get(key, getattr(village, key)) for key in ("county_zh", "township_zh", "name_zh")}
    if merged != {key: getattr(village, key) for key in merged}:
        _ensure_unique_village(
            session, merged["county_zh"], merged["township_zh"], merged["name_zh"], exclude_id=village.id
        )
    apply_changes(village, changes)
    session.flush()
    return village


def _ensure_unique_village(
    session: Session, county_zh: str, township_zh: str, name_zh: str, exclude_id: int | None = None
) -> None:
    statement = sa.select(Village.id).where(
        Village.county_zh == county_zh, Village.township_zh == township_zh, Village.name_zh == name_zh
    )
    if exclude_id is not None:
        statement = statement.where(Village.id != exclude_id)
    if session.scalar(statement) is not None:
        raise DuplicateName(f"{county_zh}{township_zh}{name_zh} already exists")


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise OrganisationNotFound(f"organisation {organisation_id} does not exist")
    return organisation


def find_organisation_by_name(session: Session, name_zh: str) -> Organisation | None:
    return session.scalar(sa.select(Organisation).where(Organisation.name_zh == name_zh))


def list_organisations(
    session: Session,
    *,
    kind: OrganisationKind | None = None,
    village_id: int | None = None,
    sort: str | None = None,
) -> sa.Select:
    statement = sa.select(Organisation)
    if kind is not None:
        statement = statement.where(Organisation.kind == kind)
    if village_id is not None:
        statement = statement.where(Organisation.village_id == village_id)
    return sorted_by(statement, sort, {"name": Organisation.name_zh}, Organisation.id)


def create_organisation(
    session: Session,
    *,
    kind: OrganisationKind,
    name_zh: str,
    name_en: str,
    village_id: int | None = None,
    contact_phone: str | None = None,
) -> Organisation:
    if village_id is not None:
        get_village(session, village_id)
    _ensure_unique_organisation(session, name_zh)
    organisation = Organisation(
        kind=kind, name_zh=name_zh, name_en=name_en, village_id=village_id, contact_phone=contact_phone
    )
    session.add(organisation)
    session.flush()
    return organisation


def update_organisation(session: Session, *, organisation_id: int, changes: dict) -> Organisation:
    organisation = get_organisation(session, organisation_id)
    if changes.get("village_id") is not None:
        get_village(session, changes["village_id"])
    if "name_zh" in changes and changes["name_zh"] != organisation.name_zh:
        _ensure_unique_organisation(session, changes["name_zh"])
    apply_changes(organisation, changes)
    session.flush()
    return organisation


def _ensure_unique_organisation(session: Session, name_zh: str) -> None:
    if find_organisation_by_name(session, name_zh) is not None:
        raise DuplicateName(f"an organisation named {name_zh} already exists")


def require_kind(organisation: Organisation, kinds: set[OrganisationKind], field: str) -> None:
    if organisation.kind not in kinds:
        expected = " or ".join(sorted(kind.value for kind in kinds))
        raise WrongOrganisationKind(
            f"organisation {organisation.id} is a {organisation.kind.value}, not a {expected}",
            errors={"json": {field: [f"must be a {expected}"]}},
        )


def get_cluster(session: Session, cluster_id: int) -> Cluster:
    cluster = session.get(Cluster, cluster_id)
    if cluster is None:
        raise ClusterNotFound(f"cluster {cluster_id} does not exist")
    return cluster


def find_cluster_by_slug(session: Session, slug: str) -> Cluster | None:
    return session.scalar(sa.select(Cluster).where(Cluster.slug == slug))


def list_clusters(session: Session, *, sort: str | None = None) -> sa.Select:
    return sorted_by(sa.select(Cluster), sort, {"name": Cluster.name_zh, "slug": Cluster.slug}, Cluster.id)


def create_cluster(
    session: Session,
    *,
    slug: str,
    name_zh: str,
    name_en: str,
    key_village_id: int,
    village_ids: list[int],
    operator_id: int,
    description_zh: str = "",
    description_en: str = "",
) -> Cluster:
    if find_cluster_by_slug(session, slug) is not None:
        raise DuplicateName(f"a cluster with slug {slug!r} already exists")
    operator = get_organisation(session, operator_id)
    require_kind(operator, CLUSTER_OPERATOR_KINDS, "operator_id")
    cluster = Cluster(
        slug=slug,
        name_zh=name_zh,
        name_en=name_en,
        description_zh=description_zh,
        description_en=description_en,
        operator=operator,
    )
    _set_members(session, cluster, key_village_id=key_village_id, village_ids=village_ids)
    session.add(cluster)
    session.flush()
    return cluster


def update_cluster(session: Session, *, cluster_id: int, changes: dict) -> Cluster:
    cluster = get_cluster(session, cluster_id)
    if (
        "slug" in changes
        and changes["slug"] != cluster.slug
        and find_cluster_by_slug(session, changes["slug"]) is not None
    ):
        raise DuplicateName(f"a cluster with slug {changes['slug']!r} already exists")
    if "operator_id" in changes:
        require_kind(get_organisation(session, changes["operator_id"]), CLUSTER_OPERATOR_KINDS, "operator_id")
    village_ids = changes.pop("village_ids", None)
    key_village_id = changes.pop("key_village_id", None)
    if village_ids is not None or key_village_id is not None:
        _set_members(
            session,
            cluster,
            key_village_id=key_village_id or cluster.key_village_id,
            village_ids=village_ids if village_ids is not None else cluster.village_ids,
        )
    apply_changes(cluster, changes)
    session.flush()
    return cluster


def _set_members(session: Session, cluster: Cluster, *, key_village_id: int, village_ids: list[int]) -> None:
    wanted = list(dict.fromkeys(village_ids))
    if key_village_id not in wanted:
        raise KeyVillageNotMember(
            "the key village must be one of the cluster's villages",
            errors={"json": {"key_village_id": ["must be in village_ids"]}},
        )
    for village_id in wanted:
        village = get_village(session, village_id)
        if village.membership is not None and village.membership.cluster is not cluster:
            raise VillageInAnotherCluster(
                f"village {village_id} ({village.name_zh}) already belongs to cluster "
                f"{village.membership.cluster_id}"
            )
    current = {member.village_id: member for member in cluster.members}
    cluster.members = [
        current.get(village_id) or ClusterVillage(village_id=village_id) for village_id in wanted
    ]
    session.flush()
    cluster.key_village_id = key_village_id


def list_pairings(
    session: Session, *, village_id: int | None = None, enterprise_id: int | None = None
) -> sa.Select:
    statement = sa.select(Pairing).order_by(Pairing.id)
    if village_id is not None:
        statement = statement.where(Pairing.village_id == village_id)
    if enterprise_id is not None:
        statement = statement.where(Pairing.enterprise_id == enterprise_id)
    return statement


def create_pairing(
    session: Session, *, village_id: int, enterprise_id: int, since: date, note_zh: str = ""
) -> Pairing:
    get_village(session, village_id)
    enterprise = get_organisation(session, enterprise_id)
    require_kind(enterprise, {OrganisationKind.ENTERPRISE}, "enterprise_id")
    exists = session.scalar(
        sa.select(Pairing.id).where(Pairing.village_id == village_id, Pairing.enterprise_id == enterprise_id)
    )
    if exists is not None:
        raise PairingExists(f"village {village_id} and enterprise {enterprise_id} are already paired")
    pairing = Pairing(village_id=village_id, enterprise_id=enterprise_id, since=since, note_zh=note_zh)
    session.add(pairing)
    session.flush()
    return pairing


def serves_village_clause(organisation_id, village_id) -> sa.Exists:
    """SQL: the grower works in the village. Takes values or columns, for checks and for queries."""
    return sa.exists().where(
        CooperativeVillage.organisation_id == organisation_id, CooperativeVillage.village_id == village_id
    )


def serves_village(session: Session, *, organisation_id: int, village_id: int) -> bool:
    return session.execute(sa.select(serves_village_clause(organisation_id, village_id))).scalar_one()


def ensure_serves_village(session: Session, *, organisation_id: int, village_id: int) -> None:
    """Produce may come only from a village its grower works in: its sales credit that village."""
    village = get_village(session, village_id)
    if not serves_village(session, organisation_id=organisation_id, village_id=village_id):
        raise VillageNotServed(
            f"organisation {organisation_id} does not work in village {village_id} "
            f"({village.name_zh}); the operator records which villages a grower works in",
            organisation_id=organisation_id,
            village_id=village_id,
        )


def list_village_memberships(session: Session, *, actor: Actor, organisation_id: int) -> sa.Select:
    """The villages a grower works in; the operator sees every grower's, a grower its own."""
    get_organisation(session, organisation_id)
    _ensure_own_or_operator(actor, organisation_id)
    return (
        sa.select(CooperativeVillage)
        .where(CooperativeVillage.organisation_id == organisation_id)
        .order_by(CooperativeVillage.village_id)
    )


def add_village_membership(
    session: Session, *, organisation_id: int, village_id: int, since: date
) -> CooperativeVillage:
    grower = get_organisation(session, organisation_id)
    require_kind(grower, GROWER_KINDS, "organisation_id")
    get_village(session, village_id)
    if session.get(CooperativeVillage, (organisation_id, village_id)) is not None:
        raise MembershipExists(f"organisation {organisation_id} already works in village {village_id}")
    membership = CooperativeVillage(organisation_id=organisation_id, village_id=village_id, since=since)
    session.add(membership)
    session.flush()
    return membership


def remove_village_membership(session: Session, *, organisation_id: int, village_id: int) -> None:
    """The grower no longer works in the village: its lots from there leave the shop."""
    membership = session.get(CooperativeVillage, (organisation_id, village_id))
    if membership is None:
        raise MembershipNotFound(
            f"organisation {organisation_id} is not recorded as working in village {village_id}"
        )
    session.delete(membership)
    session.flush()
    # The lots are catalog's and the brand gate is quality's.
    send_required(village_left, session, organisation_id=organisation_id, village_id=village_id)


def _ensure_own_or_operator(actor: Actor, organisation_id: int) -> None:
    if actor.role is not Role.OPERATOR and actor.organisation_id != organisation_id:
        raise NotYours("only the operator and the organisation itself see this")
