"""Microsoft 365: Graph for mail, a workbook for the responses, MSAL for the sign-in."""
