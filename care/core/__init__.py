"""The shared kernel every domain package stands on.

settings (configuration from CAREBOT_* variables), db (engine, unit of work, migrations),
models (the CRM schema), text (the one normaliser and the one formatter for money, dates,
phones and durations), rendering (the one template renderer), calendar (holidays and Tết),
interactions (the log of every exchange with a customer). Import its modules directly:
``from care.core.models import Customer``.
"""
