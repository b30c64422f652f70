"""``make stack``: the distributed mode on this machine, without Docker.

Each service is its own process (two replicas of apogee_api), Debian's nginx routes to them on a
loopback port with the same routes as production (``deploy/nginx/routes.conf``), the local
PostgreSQL holds the stack's own databases and the local RabbitMQ its own virtual host, and the
Moodle simulator stands in for the platforms. Everything the stack starts is recorded under its
directory (``var/stack/``) so that ``make stack-down`` stops exactly that and nothing else.
"""
