"""The networks screen (``4``): every network with its subnet, gateway and the containers on it; create, remove."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType

from runtime.engine.networking import NetworkInfo

from .listing import ListingScreen

COLUMNS = (("NETWORK ID", "id"), ("NAME", "name"), ("DRIVER", "driver"), ("SUBNET", "subnet"),
           ("GATEWAY", "gateway"), ("BRIDGE", "bridge"), ("CONTAINERS", "members"))


def members_text(info: NetworkInfo) -> str:
    """``web 10.88.0.2, db 10.88.0.3``, or ``-``."""
    return ", ".join(f"{m.name} {m.ip}".strip() for m in info.members) or "-"


def network_rows(infos: Sequence[NetworkInfo]) -> list[tuple[str, NetworkInfo, tuple[str, ...]]]:
    out: list[tuple[str, NetworkInfo, tuple[str, ...]]] = []
    for info in infos:
        net = info.network
        bridge = f"{net.bridge} ({'up' if info.up else 'down'})" if net.bridge else "-"
        out.append((net.id, info, (net.short_id, net.name, net.driver, net.subnet or "-", net.gateway or "-",
                                   bridge, members_text(info))))
    return out


class NetworksScreen(ListingScreen[NetworkInfo]):
    """The networks; the predefined ``bridge``, ``host`` and ``none`` cannot be removed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "create", "Create", id="network_create"),
        Binding("d", "remove", "Remove", id="network_remove"),
        Binding("P", "prune", "Prune", id="network_prune"),
    ]
    COLUMNS = COLUMNS
    TABLE_ID = "networks"
    NOUN = "network"

    def load(self) -> list[tuple[str, NetworkInfo, tuple[str, ...]]]:
        return network_rows(self.tapp.engine.network_infos())

    def summary(self) -> str:
        members = sum(len(i.members) for i in self.items.values())
        return (f" {len(self.items)} network{'' if len(self.items) == 1 else 's'}, "
                f"{members} running container{'' if members == 1 else 's'} attached")

    def action_create(self) -> None:
        from .prompt import PromptDialog

        engine = self.tapp.engine

        def answered(values: dict[str, str] | None) -> None:
            if not values:
                return
            name, subnet, gateway = values["name"], values["subnet"] or None, values["gateway"] or None
            self.act(f"create network {name}", lambda: engine.networks.create(name, subnet, gateway),
                     lambda net: f"{net.name}: created with {net.subnet}, gateway {net.gateway}")

        self.app.push_screen(PromptDialog("Create a network", "Create", [
            ("name", "Name", "backend", ""),
            ("subnet", "Subnet", "10.91.0.0/24 (empty: a free one)", ""),
            ("gateway", "Gateway", "10.91.0.1 (empty: the first address)", "")], required=("name",)), answered)

    def action_remove(self) -> None:
        info = self.selected()
        if info is None:
            return
        name = info.network.name
        from .dialogs import ConfirmDialog

        engine = self.tapp.engine

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(f"remove network {name}", lambda: engine.networks.remove(name),
                         f"{name}: removed")

        self.app.push_screen(ConfirmDialog(f"Remove network {name} ({info.network.subnet or 'no subnet'})?",
                                           "Remove"), answered)

    def action_prune(self) -> None:
        from .dialogs import ConfirmDialog

        engine = self.tapp.engine

        def answered(yes: bool | None) -> None:
            if yes:
                self.act("prune networks", engine.networks.prune,
                         lambda gone: f"{len(gone)} network{'' if len(gone) == 1 else 's'} removed")

        self.app.push_screen(ConfirmDialog("Remove every user network no running container is on?", "Prune"),
                             answered)
