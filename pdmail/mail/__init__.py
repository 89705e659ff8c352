"""Turning templates into messages and messages into the bytes a mailer sends."""
