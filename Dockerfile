# One image for every service; the command chooses which one runs (`fusion serve SERVICE`).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fusion fusion
COPY services services
COPY sim sim
COPY launcher launcher
COPY bench bench
RUN pip install --no-cache-dir . && useradd --system fusion
USER fusion
EXPOSE 8000
CMD ["fusion", "serve", "apogee_api", "--host", "0.0.0.0", "--port", "8000"]
