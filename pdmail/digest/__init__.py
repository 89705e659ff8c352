"""The digest: answers read, tagged and planned, then compiled and mailed to the librarian."""
