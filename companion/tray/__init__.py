"""The tray icon: menu model, icon drawing, notifications and the pystray glue (``run``)."""
