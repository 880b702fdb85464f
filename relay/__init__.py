"""The market-data relay: capped upstream sockets to Massive fanned out to every admin.

The layers, each importing only the ones below it (no cycles, `TYPE_CHECKING` imports included):

- `relay.__main__`, `relay.worker`, `relay.app` (+ `status_page.html`): the process, the gunicorn
  worker and the WSGI application; `app` builds the node and picks its coordination.
- `relay.node` (`RelayNode`): the sessions, each cluster's hub and counters, the reaper. Only `relay.app`
  imports it.
- `relay.coordination`: how one or many relay processes share one Massive key (its members and
  their leader): the `Coordinator` the node always holds, `standalone` (one process, its own links)
  and `redis` (several, over Redis) are shells; `lease`, `leadership`, `fanout`, `messages` (the
  member protocol) and `views` (a member's belief about each upstream) are pure. It reaches the node
  through `relay.coordination.MemberHost`.
- `relay.session` (`ClientSession`, one client's socket) and `relay.link` (`UpstreamLink`, one
  socket to Massive): gevent shells, which know the node only as `relay.core.ports`' Protocols.
- `relay.core`: the pure core (no gevent, geventwebsocket, redis, socket or websocket; it imports
  only itself), tested without a network.
- `relay.admission` (who may connect) and `relay.simulator` (a fake Massive) stand aside: the
  shells use them, and they import no other relay module.
"""
