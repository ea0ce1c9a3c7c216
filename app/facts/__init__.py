"""Contact facts: what each contact's history made of it, kept beside the touches by the
refresher (``repository``) and counted by the analytics reports."""
