"""The composition root: the ``fusion`` command, which may import the kit, services and sim."""
