"""Stories: telling, moderating, publishing, responding, authors' rights and safeguarding.
See README.md, "How it is built", and feedback/hub/ for the hub's own models."""
