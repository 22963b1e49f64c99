"""The reports by e-mail, exactly once (``qc-batch mail``).

Modules, in the order a message goes through them:

- ``config``: the ``smtp``, ``address_book`` and ``mail`` settings, checked (also at settings load);
- ``results``: what ``qc-batch run`` left in the output folder, and the hash of what a unit receives;
- ``render``: the report's Markdown as safe HTML and readable plain text;
- ``message``: one message per unit, with its attachments; the outbox;
- ``sendlog``: the append-only send log and the folder lock;
- ``plan``: what a send would do for each unit;
- ``smtp``: the SMTP session and the send loop;
- ``events``: what the library reports (the command line prints it);
- ``job``: the ``qc-batch mail`` command as one library call.

This package never imports click or the command line.
"""
