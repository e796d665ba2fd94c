"""The service layer: every write the admin, the API and the commands make goes through here."""
