"""Runs the scim2-tester compliance checks against Reprise's SCIM service provider.

Usage: python scim_check.py BASE_URL  (the token in SCIM_TOKEN)

Prints one line per check and exits 1 when any check reports anything but success, except the
checks listed in DELIBERATE below: each tests a behaviour Reprise chose otherwise, for the reason
given (docs/identity.md describes it).
"""

import os
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

# (check, resource type, text of the checker's reason, why Reprise differs)
DELIBERATE = [
    (
        "object_deletion",
        "User",
        "still exists after deletion",
        "DELETE deactivates a user instead of erasing them: their answers and history stay, and a "
        "provider that assigns them again reactivates the same account",
    ),
    (
        "check_remove_attribute",
        "User",
        "'active'",
        "a Reprise user is active or deactivated: removing `active` leaves the flag as it is",
    ),
    (
        "check_remove_attribute",
        "User",
        "reprise:2.0:User",
        "a user always has a role: a document without the Reprise extension keeps the role, so "
        "roles given in Reprise survive a provider that does not manage them",
    ),
]


def deliberate(result) -> str | None:
    for title, resource_type, reason, why in DELIBERATE:
        if (
            result.title == title
            and getattr(result, "resource_type", None) == resource_type
            and reason in (result.reason or "")
        ):
            return why
    return None


def main() -> int:
    base_url = sys.argv[1]
    headers = {"Authorization": f"Bearer {os.environ['SCIM_TOKEN']}"}
    client = SyncSCIMClient(Client(base_url=base_url, headers=headers, timeout=30))
    results = check_server(client)
    failed = 0
    excused = 0
    for result in results:
        ok = result.status in (Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED)
        why = None if ok else deliberate(result)
        where = f" [{result.resource_type}]" if getattr(result, "resource_type", None) else ""
        if why:
            excused += 1
            print(f"{'DELIBERATE':10} {result.title}{where}: {why}")
            continue
        if not ok:
            failed += 1
        print(f"{result.status.name:10} {result.title}{where}")
        if result.reason and not ok:
            print(f"           {result.reason}")
    print(f"scim2-tester: {len(results) - failed - excused} passed, {failed} failed, {excused} deliberate")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
