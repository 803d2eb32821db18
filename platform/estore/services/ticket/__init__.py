"""The support-ticket service: tickets, their messages and live chat over WebSocket."""
