"""Container networking: bridges, veth pairs, addresses, NAT and published ports (rtnetlink via pyroute2, nftables)."""
