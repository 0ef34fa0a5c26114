"""WeCom (企业微信) API client, a fake WeCom server and a callback sender."""
