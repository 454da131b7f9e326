"""salesbot: chat-bot-first sales assistant (WeCom, DingTalk, console)."""
