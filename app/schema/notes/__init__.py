"""Notes in the GraphQL API: a partner's thread, logNote, editNote, deleteNote."""
